/**
 * Every repository over one database (one module per table in db/), built
 * once by createServices, and the queue an image's dispatches go to.
 */
import type { QueueName } from '@slideshow/dispatch';
import { createFailedTasksRepository } from './db/failed-tasks-repository.ts';
import type { ImageRow } from './db/images-repository.ts';
import { createImagesRepository } from './db/images-repository.ts';
import type { Db } from './db/open-database.ts';
import { createOutboxRepository } from './db/outbox-repository.ts';
import { createPendingOriginalsRepository } from './db/pending-originals-repository.ts';
import { createRegenRepository } from './db/regen-repository.ts';
import { createSessionsRepository } from './db/sessions-repository.ts';
import { createUploadSessionsRepository } from './db/upload-sessions-repository.ts';

/** Every repository, built once per database. */
export function createRepositories(db: Db) {
  return {
    images: createImagesRepository(db),
    failedTasks: createFailedTasksRepository(db),
    outbox: createOutboxRepository(db),
    sessions: createSessionsRepository(db),
    pendingOriginals: createPendingOriginalsRepository(db),
    uploadSessions: createUploadSessionsRepository(db),
    regen: createRegenRepository(db),
  };
}

/** The repositories bundle. */
export type Repositories = ReturnType<typeof createRepositories>;

/** The queue an image's dispatches go to. */
export function queueFor(image: Pick<ImageRow, 'priority'>): QueueName {
  return image.priority === 'batch' ? 'ingest' : 'uploads';
}

import { describe, expect, it } from 'vitest';
import {
  argumentImageFields,
  argumentTextImageFields,
  envImageFields,
} from './image-log-fields.ts';

describe('the image fields of local-cloud log lines', () => {
  it("names one image or a batch's from a workflow argument, as the backend's lines do", () => {
    expect(argumentImageFields({ file_id: 'img_a', generation: 2 })).toEqual({ imageId: 'img_a' });
    expect(argumentImageFields({ file_ids: ['img_a', 'img_b'], generations: [0, 1] })).toEqual({
      imageIds: ['img_a', 'img_b'],
    });
    expect(argumentTextImageFields('{"file_id":"img_c","generation":0}')).toEqual({
      imageId: 'img_c',
    });
  });

  it("names one image or a batch's from a job execution's env", () => {
    expect(envImageFields([{ name: 'TARGET_FILE_ID', value: 'img_a' }])).toEqual({
      imageId: 'img_a',
    });
    expect(
      envImageFields([
        { name: 'TARGET_GENERATIONS', value: '0,3' },
        { name: 'TARGET_FILE_IDS', value: 'img_a,img_b' },
      ]),
    ).toEqual({ imageIds: ['img_a', 'img_b'] });
  });

  it('adds nothing for other workflows and jobs, or for what cannot be read', () => {
    for (const argument of [null, 'text', 7, [], { name: 'x' }, { file_id: 42 }, { file_id: '' }]) {
      expect(argumentImageFields(argument), JSON.stringify(argument)).toEqual({});
    }
    expect(argumentTextImageFields('{not json')).toEqual({});
    expect(argumentTextImageFields('')).toEqual({});
    expect(envImageFields(undefined)).toEqual({});
    expect(envImageFields([{ name: 'OTHER', value: 'x' }])).toEqual({});
    // A stored execution that cannot be resumed may hold anything where its env should be.
    expect(envImageFields({ TARGET_FILE_ID: 'img_a' } as never)).toEqual({});
    expect(envImageFields([null, { name: 'TARGET_FILE_ID' }] as never)).toEqual({});
  });
});

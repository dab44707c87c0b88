/** The `<head>` of both pages: the shared and the page's stylesheets, one entry module. */
export const head = (title: string, stylesheets: string[], script: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/base.css">
${stylesheets.map((name) => `<link rel="stylesheet" href="/assets/${name}">`).join('\n')}
<script type="module" src="/assets/${script}"></script>
</head>`;

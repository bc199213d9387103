"""What a reader sees: figures, GIFs, the explorer pages and their JavaScript, the results site,
RESULTS.md and the READMEs' generated blocks, and the headless-browser helper. Built on the core;
it never trains."""

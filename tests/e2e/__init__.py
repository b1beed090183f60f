"""End to end: the installed `fcaudit` executable against the sandbox, over HTTP."""

"""The check server: both sides of a check kept warm, one per workspace.

    mi-exercise check ──unix socket (.mi-exercise/server.sock, 0600)──▶ server (trusted: torch,
                                                                        pytest, graders' imports,
                                                                        TransformerLens, catalog)
                                                                          │ fork per command
                                                                          ▼
                                                                    trusted child ──▶ worker
                                                                    (the command,     (forked from the
                                                                     as run cold)      server's sandboxed zygote)

- `client.py` (stdlib only, imported before anything heavy): hands a `check`, `watch`,
  `validate` or `grade` command line to the workspace's server with the terminal's file
  descriptors, relays Ctrl-C, and exits with the command's exit status. No server: the command
  runs cold, and a `check` starts one in the background when it is done.
- `daemon.py`: the server. It imports what checks need once, keeps a warm worker zygote, and
  forks a fresh trusted child per command; the child runs the ordinary CLI with the client's
  argv, folder, environment and terminal, so its output and exit status are a cold run's.
- `protocol.py`: where the socket lives, the JSON lines and descriptors that cross it, and what
  makes a server stale (a changed package or content, another interpreter or environment).
- `control.py` and `commands.py`: `mi-exercise server start|status|stop`.
"""

"""`python -m colorizer.serve`: colorization over HTTP on LitServe, batching concurrent requests
(`server` builds it, `endpoint` reads and answers requests, `network` runs the nets)."""

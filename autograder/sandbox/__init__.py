"""Running untrusted code: isolation levels and limits, the per-submission runner and its zygote,
and what runs inside the sandbox (the cell executor, the worker, the wire protocol).

Code here is imported inside the sandbox too: keep this package free of grader-only imports."""

"""PromQL: parse adapter, AST, evaluator. Never imports Flask."""

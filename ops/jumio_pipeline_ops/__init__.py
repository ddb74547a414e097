"""Operating the pipeline: one command line for on-call, against a deployed or the local stack.

Never deployed: the Lambda layer must not import it (an import-linter contract says so). It
reads through the layer's adapters (ledger, audit trail) so that the ledger's layout stays
known in one place, and it prints ids, statuses, codes, counts and times only.
"""

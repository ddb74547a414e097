"""The use cases: one module per thing the pipeline does (deliver a capture, deliver prepared
data, register a session, finalize, erase, the session's task steps). Services decide; they
reach the world only through the small protocols of :mod:`jumio_pipeline.services.ports`."""

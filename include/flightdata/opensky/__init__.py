"""The OpenSky Network REST API: ``api`` (endpoints, boxes, credits, the document's shape),
``client`` (``GET /api/states/all`` over requests) and ``errors``. Import the module you need:
this package imports nothing, so reading a box does not load the HTTP client."""

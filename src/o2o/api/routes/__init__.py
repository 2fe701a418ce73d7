"""The API's route modules; `o2o.api.app.ROUTERS` lists the ones mounted under /api/v1."""

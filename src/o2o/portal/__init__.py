"""The analyst portal: server-rendered pages on the hub (Jinja2 templates, SVG charts, one small script),
over the same services, identities and isolation as the API. `o2o.portal.app.create_hub` is what `o2o serve`
runs."""

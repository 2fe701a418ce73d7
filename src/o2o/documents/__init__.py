"""Settlement documents as typed models and their renderers (XLSX, ISO 20022 pain.001 and CSV, PDF).

An adapter: it imports the domain only. `o2o.services.documents` assembles the models from the store's
final state; `o2o.services.document_files` writes them in each format.
"""

"""kgbuild: public-funding project descriptions → linked open data.

The pipeline, one module per stage, each with one entry function:

    parsers  (text → ProjectRecord)        imports no RDF library
    mapping  (records → pyoxigraph quads)  deterministic IRIs
    validation (quads + shapes → report)   one engine (shacl_sparql) for build and validate; the only
                                           module that imports rdflib / pyshacl (the test oracle, when called)
    store    (quads → on-disk Oxigraph)    the only module that opens a pyoxigraph Store
    changes  (store after a build → log)   what each build created, updated, deleted
    export / ldes / server                 read the store and its change log; the server never imports the parsers

Only :mod:`kgbuild.pipeline` composes the stages; the CLI calls the same functions.
``tests/test_architecture.py`` checks these import rules.
"""

__version__ = "0.1.0"

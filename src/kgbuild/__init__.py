"""kgbuild: public-funding project descriptions → linked open data.

The build, one module per stage, in this order; each imports only the stages before it:

    sources  (paths → parsed records)            the parsers (text → ProjectRecord) import no RDF library
    prepare  (records → PreparedSource)          mapping: deterministic IRIs; duplicates: warnings
    validate_stage (sources + shapes → report)   the engine is validation (shacl_sparql), for build and
                                                 validate alike; the only module that imports rdflib /
                                                 pyshacl (the test oracle, when called)
    plan     (the store's build graph → changes) what stays, what goes, under which base IRI
    load     (changes → the store)               through store, the only module that opens a pyoxigraph Store;
                                                 provenance: each graph's build record
    pipeline (composes them: build)              handoffs: the typed values they pass each other
    changes  (store after a build → log)         what each build created, updated, deleted
    export / ldes / server                       read the store and its change log; the server never
                                                 imports the parsers

Only :mod:`kgbuild.pipeline` composes the stages; the CLI calls the same functions. No module imports
another's ``_private`` name, and there is no import cycle: the store interface (``store``) is below its two
implementations (``embedded_store``, ``remote_store``) and the chooser (``stores``) above them.
``tests/test_architecture.py`` checks these import rules on the import graph.
"""

__version__ = "0.1.0"

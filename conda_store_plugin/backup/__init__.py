"""Whole-store backup and restore: ``conda store backup`` / ``conda store restore``.

A backup is one file, a tar stream compressed with zstd (``.tar.zst``)::

    manifest.json                          first member; schemas/conda-store-backup-1
    environments/<ns>/<name>.json          one transfer file per environment (``transfer``)
    packages/<sha256>/<fn>                 with --with-packages: every package archive
                                           the current builds need

The manifest names every other member with its size and sha256, the environments with
their current build, and the packages with URL, size and sha256 (the locked ones).

One job per module:

* ``manifest``: the manifest model and its versioned schema;
* ``zstd_stream``: the compressed stream, written to a temp file then renamed, read with
  truncation detected (the zstd frame must end where the file ends);
* ``create``: snapshot every environment under its lock (finished builds only) and write
  the archive;
* ``packages``: find (or fetch) package archives in the package cache; seed a package
  cache from a backup;
* ``verify``: read a whole backup once, checking every member (``safe_tar``) and hash,
  writing nothing;
* ``restore``: verify, plan against the target store (``--on-conflict``), seed the
  package cache, import each environment (its current build recreated and checked
  package by package against its lockfile).
"""

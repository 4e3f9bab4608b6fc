"""The environment store: namespaces, environments and their numbered builds.

One job per module:

* ``location``: where the store and the envs-dir links live (``--store`` >
  ``CONDA_STORE_DIR`` > conda setting ``store_dir`` > ``~/.conda/store``).
* ``layout``: paths inside a store, names, ``NS/NAME@BUILD`` references.
* ``records``: the JSON records (store, environment, build, usage), their versioned
  schemas, atomic writes; a record or store newer than this version is refused.
* ``locks``: the per-environment lock and the per-build "builder alive" lock.
* ``builds``: opening a store, numbering, status, the observed status (an
  interrupted build reads as failed, never completed), repairing crash leftovers.
* ``current``: the current build and the atomic switch of the envs-dir symlink.
* ``usage``: the "used" rule, recording and reading the last use.
* ``build`` / ``recreate``: the two verbs that install.
* ``views``: list, history, show, diff (read-only, lock-free).
* ``remove``: archive or delete one build; ``archive``: bulk archive policies.
* ``diskusage`` / ``dedupe``: space accounting with hardlinks; hardlinking copies.
"""

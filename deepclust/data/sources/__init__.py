"""The named datasets, one module each (see :mod:`deepclust.data.registry`)."""

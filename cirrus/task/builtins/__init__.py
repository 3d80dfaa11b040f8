"""Tasks that ship with cirrus, registered under the ``cirrus.tasks`` entry-point group."""

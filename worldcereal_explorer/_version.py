"""The package version, in a module of its own so that modules which stamp it into files need not import the
package root (and with it the lazy-import table)."""

__version__ = "0.1.0"

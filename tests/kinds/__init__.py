"""Stage kinds defined by the tests to prove the extension point (registered at run time)."""

"""The staff console: the network's daily work in the browser, in French (contract §14)."""

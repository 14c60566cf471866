"""`coop import`: bringing existing records in from spreadsheets (contract §13)."""

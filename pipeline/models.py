"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger."""

"""The save and load pipeline on state data: state types, gather, staging, the save queue, restore (plan, apply)."""

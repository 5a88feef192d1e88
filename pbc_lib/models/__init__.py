"""Pure policy models: functions on DataFrames and numbers; no widgets, printing or file I/O."""

"""Pure policy models: functions on DataFrames and numbers, with no widgets, printing or file I/O."""

"""PbC Workbooks helper library: data, models, charts and apps behind the workbooks."""

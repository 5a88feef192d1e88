"""Teaching content kept as data: question sets and reference tables the workbooks show."""

"""``python -m pbc_lib.hosting``: serve every workbook with Voilà."""

from pbc_lib.hosting import main

main()

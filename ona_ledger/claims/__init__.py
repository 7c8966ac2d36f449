"""Claims: superbill, CMS-1500 and X12 837P out; X12 835 remittances in, with denials."""

#!/usr/bin/python3
"""Prints PATH<TAB>InstitutionName<TAB>ReferringPhysicianName for every file
under DIR that pydicom reads (header only). Used by deidentify_test to look
for these values in de-identified output. Usage: corpus_names.py DIR"""
import os
import sys

import pydicom

for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True,
                                 specific_tags=["InstitutionName", "ReferringPhysicianName"])
        except Exception:
            continue
        values = [str(ds.get(k, "") or "").strip()
                  for k in ("InstitutionName", "ReferringPhysicianName")]
        print("\t".join([path] + values))

#!/usr/bin/env python3
"""The reference side of the mesh benchmark: a raw int16 volume -> vtkImageData
-> vtkFlyingEdges3D at THRESHOLD -> binary STL (vtkSTLWriter).
Usage: mesh_vtk.py RAW NX NY NZ SX SY SZ THRESHOLD OUT.stl"""
import sys
import numpy as np
import vtk
from vtk.util import numpy_support

raw = sys.argv[1]
nx, ny, nz = (int(v) for v in sys.argv[2:5])
sx, sy, sz, threshold = (float(v) for v in sys.argv[5:9])
out = sys.argv[9]
a = np.fromfile(raw, dtype="<i2")
img = vtk.vtkImageData()
img.SetDimensions(nx, ny, nz)
img.SetSpacing(sx, sy, sz)
img.GetPointData().SetScalars(numpy_support.numpy_to_vtk(a, deep=0))
fe = vtk.vtkFlyingEdges3D()
fe.SetInputData(img)
fe.SetValue(0, threshold)
fe.ComputeNormalsOff()
fe.ComputeGradientsOff()
fe.ComputeScalarsOff()
w = vtk.vtkSTLWriter()
w.SetInputConnection(fe.GetOutputPort())
w.SetFileTypeToBinary()
w.SetFileName(out)
w.Write()

"""Visual product lookup (a customer's photo finds the product).

* :mod:`vision.images` and :mod:`vision.media`: checking, decoding and storing
  uploaded photos (Pillow only; the Rasa channel uses them too).
* :mod:`vision.encoder`: EfficientNet-Lite0/Lite2 from registry packages, offline.
* :mod:`vision.finetune`: retraining the network on the shop's own photos.
* :mod:`vision.index`: the faiss photo index, saved in versions and hot-reloaded.
* :mod:`vision.adapt`: the projection learned from the shop's photos and the
  calibration of the answer bounds.
* :mod:`vision.search`: :class:`~vision.search.VisualSearch`, photo to products.

Heavy libraries (torch, faiss) are imported on first use.
"""

"""The scikit-learn ``digits`` dataset (UCI optical handwritten digits), bundled with scikit-learn.

``sklearn.datasets.load_digits()`` gives 1 797 images of 8x8 pixels with 17 grey levels (0..16)
and labels 0..9. The canonical split here is a fixed, stratified 80/20 hold-out:
``train_test_split(images, labels, test_size=0.2, random_state=0, stratify=labels)``, which gives
1 437 training and 360 test images with every class in both splits in its overall proportion.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

TEST_SIZE = 0.2
RANDOM_STATE = 0


def read_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load scikit-learn's digits and split them canonically (see the module docstring).

    Pixels 0..16 are scaled to 0..255 with ``round(v * 255 / 16)``, so 0 -> 0 and 16 -> 255.

    Returns:
        ``(train_images, train_labels, test_images, test_labels)``: uint8 ``[N, 8, 8]`` and int64
        ``[N]``, with N = 1 437 for train and 360 for test.
    """
    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=labels
    )
    return train_x, train_y, test_x, test_y

"""Kept for rubrics (``from autograder.datasets import load_cifar10``), the a05 notebook
(``from autograder.datasets import cifar10_folder, load_cifar10``) and for
``python -m autograder.datasets make-cifar DIR``.  The code is ``autograder.core.datasets``."""
import sys

from .core.datasets import (CIFAR10_MD5, CIFAR10_URL, DOWNLOAD_ROOT, cifar10_folder, download_cifar10,
                            find_cifar10, is_standin, load_batch, load_cifar10, main, make_synthetic_arrays,
                            make_synthetic_cifar10, standin_cifar10)

__all__ = ["CIFAR10_MD5", "CIFAR10_URL", "DOWNLOAD_ROOT", "cifar10_folder", "download_cifar10", "find_cifar10",
           "is_standin", "load_batch", "load_cifar10", "main", "make_synthetic_arrays", "make_synthetic_cifar10",
           "standin_cifar10"]

if __name__ == "__main__":
    sys.exit(main())

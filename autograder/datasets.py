"""Kept for rubrics (``from autograder.datasets import load_cifar10``) and for
``python -m autograder.datasets make-cifar DIR``.  The code is ``autograder.core.datasets``."""
import sys

from .core.datasets import (find_cifar10, load_batch, load_cifar10, main, make_synthetic_arrays,
                            make_synthetic_cifar10)

__all__ = ["find_cifar10", "load_batch", "load_cifar10", "main", "make_synthetic_arrays",
           "make_synthetic_cifar10"]

if __name__ == "__main__":
    sys.exit(main())

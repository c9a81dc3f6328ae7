"""The notebooks' figures, importable from one place (`from course_utils.plotting import ...`).

They live in modules grouped by what they show:
  plotting_images        show_image, show_images, show_image_grid, show_matrix
  plotting_convolution   show_flip_and_slide, show_kernel_positions, show_volumes,
                         strided_backward_steps, show_strided_conv_backward
  plotting_training      plot_optimizer_paths, plot_training_curves, plot_confusion_matrix
"""

from __future__ import annotations

from .plotting_convolution import (
    show_flip_and_slide,
    show_kernel_positions,
    show_strided_conv_backward,
    show_volumes,
    strided_backward_steps,
)
from .plotting_images import show_image, show_image_grid, show_images, show_matrix
from .plotting_training import plot_confusion_matrix, plot_optimizer_paths, plot_training_curves

__all__ = [
    "plot_confusion_matrix", "plot_optimizer_paths", "plot_training_curves",
    "show_flip_and_slide", "show_image", "show_image_grid", "show_images",
    "show_kernel_positions", "show_matrix", "show_strided_conv_backward", "show_volumes",
    "strided_backward_steps",
]

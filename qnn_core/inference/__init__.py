"""Running a trained model: single predictions, whole arrays, Grad-CAM, and the out-of-distribution checks."""

"""course_utils: the from-scratch CNN library of the CNN course unit."""

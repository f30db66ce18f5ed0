"""Graded student exercises: ``python -m robopercept.teach build DIR`` writes a course copy of the repository in
which the functions holding each paper's contributions raise ``NotImplementedError`` with the exercise's text,
plus one exercise notebook per paper; ``make grade`` (``python -m robopercept.teach grade``) runs exactly the
tests that grade them. The exercises are listed in ``exercises.yaml`` beside this file.
"""

from .build import (Exercise, TeachError, blank_source, build_student_copy, grade, load_exercises,
                    remove_functions)

__all__ = ["Exercise", "TeachError", "blank_source", "build_student_copy", "grade", "load_exercises",
           "remove_functions"]

# Doxygen input filter for README.md and docs/tutorial.md (docs/Doxyfile, FILTER_PATTERNS):
# gives each ## heading the anchor GitHub gives it, so the documents' [text](#anchor) links
# resolve in the HTML reference too (doxygen 1.9 makes its own ids, autotoc_mdN).
# GitHub's rule: lower case, drop punctuation but - and _, spaces become -.
# Lines inside ``` fences are code, never headings.
/^```/,/^```/b
/^##+ /{
  h
  s/^#+ +//
  s/.*/\L&/
  s/[^a-z0-9 _-]//g
  s/ /-/g
  x
  G
  s/\n(.*)/ {#\1}/
}

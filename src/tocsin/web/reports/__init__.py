"""The reports page: period figures, SVG charts, CSV and Markdown downloads."""

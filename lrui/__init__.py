"""lrui: the page's own modules (everything that touches Streamlit or Plotly), in the order the
page shows them. app.py is their table of contents.

    url.py         settings <-> the address bar
    sources.py     the run's data: a built-in dataset, your CSV file, points left out
    sidebar.py     the data and training controls
    runs.py        one training run, cached, sorted into frames, loss curve and log
    views.py       the chart (figures.py) and its player
    figures.py     the Plotly figure: data and line | loss curve | landscape, and each run
    explain/       why the run behaves as it does: limit, conditioning, the math, pinned, summary
    lessons.py     ready links for teachers
    results.py     the final state, the blog's log, downloads and the share link
    components/    the browser elements (player, live math): .js, .css and .html files
    text.py        labels, numbers as people read them, ids
"""

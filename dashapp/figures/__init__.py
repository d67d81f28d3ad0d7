"""Pure figure builders: data in, a Plotly figure out. One module per page or subject.

Builders take frames or rows that queries return and never touch the store,
Dash or globals, so they are tested without a browser. `theme` holds what
every figure shares: the template that reads on light and dark pages, and the
figure that says why a chart is empty.
"""

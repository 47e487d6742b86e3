// gpunet kernel template: schedule (the rows of a timed input, one precision)
// placeholders: fn, model, params, body
//
// Writes row `row` of a timed input of model ${model} into the attributes its schedule sets,
// `row` being the row shown at `step` (none before the first time of the schedule: nothing
// changes).  `schedule` = {start step, period in steps (-1: none), rows shown, the step of
// each shown row from the start}; `rows` holds `n` values per row: one per neuron for a
// neuron-wise attribute, one per attribute for global ones.

#ifndef GN_SCHEDULE_ROW_DEFINED
#define GN_SCHEDULE_ROW_DEFINED
// The row shown `step - schedule[0]` steps after the start, or -1 before the first one
// (gpunet.network.inputs.Schedule.row): within a period, the last row whose step is not
// after the time since the period began; before the first row of a later period, the
// period's last row.
GN_HD gn_i64 gn_schedule_row(const gn_i64* schedule, const gn_i64 step)
{
    const gn_i64 elapsed = step - schedule[0];
    const gn_i64 period = schedule[1];
    const gn_i64 shown = schedule[2];
    const gn_i64* steps = schedule + 3;
    gn_i64 cycle = 0;
    gn_i64 within = elapsed;
    if (period > 0) {  // floor division, as Python's divmod
        cycle = elapsed / period;
        within = elapsed - cycle * period;
        if (within < 0) {
            within += period;
            cycle -= 1;
        }
    }
    gn_i64 low = 0;
    gn_i64 high = shown;
    while (low < high) {  // the first shown row whose step is after `within`
        const gn_i64 middle = low + (high - low) / 2;
        if (steps[middle] <= within) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    if (low > 0) {
        return low - 1;
    }
    return (cycle > 0 && shown > 0) ? shown - 1 : -1;
}
#endif  // GN_SCHEDULE_ROW_DEFINED

GN_KERNEL ${fn}(const gn_i64 n, const gn_i64 step, const double t_host, const double dt_host${params})
{
    (void)t_host;
    (void)dt_host;
    const gn_i64 row = gn_schedule_row(schedule, step);
    if (row < 0) {
        return;
    }
    GN_FOR_EACH(i, n) {
${body}
    }
}

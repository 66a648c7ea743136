package attnc.cli;

import attnc.launch.Binding;
import java.util.Random;

/**
 * Which rows {@code attnc run} holds against the double-precision reference. The reference is
 * naive (every key of every row, in double), so at realistic sizes it would take minutes: past
 * {@link #FULL_CHECK_WORK} multiply-adds the default checks a seeded random sample of rows (the
 * first and the last always among them), and says so.
 */
record CheckPlan(Mode mode, int[] rows, long totalRows) {
    enum Mode { AUTO, FULL, SAMPLE, NONE }

    /** About a second of the reference on one core. */
    static final long FULL_CHECK_WORK = 1L << 28;
    /** The fewest rows a sample checks, however long its rows are. */
    static final int MIN_SAMPLE = 16;

    static CheckPlan of(Mode requested, Binding binding, long seed) {
        long rows = (long) binding.size("B") * binding.size("H") * binding.size("Nq");
        long perRow = Math.max(1L, (long) binding.size("Nkv") * (binding.size("D") + binding.size("Dv")));
        Mode mode = requested != Mode.AUTO ? requested : rows * perRow <= FULL_CHECK_WORK ? Mode.FULL : Mode.SAMPLE;
        if (mode != Mode.SAMPLE) return new CheckPlan(mode, null, rows);
        int wanted = (int) Math.min(rows, Math.max(MIN_SAMPLE, FULL_CHECK_WORK / perRow));
        return new CheckPlan(mode, sample(rows, wanted, new Random(seed)), rows);
    }

    /** {@code count} distinct rows of {@code rows}, ascending, always with the first and the last. */
    private static int[] sample(long rows, int count, Random random) {
        if (count >= rows) {
            int[] all = new int[(int) rows];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        java.util.TreeSet<Integer> chosen = new java.util.TreeSet<>();
        chosen.add(0);
        chosen.add((int) (rows - 1));
        while (chosen.size() < count) chosen.add((int) (random.nextDouble() * rows));
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    boolean checks() { return mode != Mode.NONE; }

    /** The rows the reference computes: null for every row. */
    int[] referenceRows() { return rows; }

    String describe() {
        return switch (mode) {
            case FULL, AUTO -> "every row";
            case SAMPLE -> rows.length + " of " + totalRows + " rows, sampled (--check full checks all)";
            case NONE -> "not checked (--check none)";
        };
    }
}

package attnc.front;

import java.util.LinkedHashSet;
import java.util.List;

/** "Did you mean": the known name closest to a misspelt one, by edit distance. */
final class Suggestions {
    private Suggestions() {}

    /** {@code "; did you mean 'x'?"} for a close enough candidate, else empty. */
    static String closest(String wrong, List<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : new LinkedHashSet<>(candidates)) {
            int distance = editDistance(wrong, candidate);
            if (distance < bestDistance) {
                bestDistance = distance;
                best = candidate;
            }
        }
        if (best == null || bestDistance > Math.max(1, Math.min(3, wrong.length() / 2))) return "";
        return "; did you mean '" + best + "'?";
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) previous[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}

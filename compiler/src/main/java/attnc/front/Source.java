package attnc.front;

import java.util.List;

/** The text of one .attn file and the name diagnostics call it by. */
public record Source(String name, String text) {

    public List<String> lines() {
        return text.lines().toList();
    }

    public String line(int oneBased) {
        List<String> lines = lines();
        return oneBased >= 1 && oneBased <= lines.size() ? lines.get(oneBased - 1) : "";
    }
}

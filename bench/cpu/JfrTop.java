import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * The methods a flight recording's execution samples sat in (top frame, with how the frame ran:
 * interpreted, JIT compiled, inlined), most first, as shares of the samples; then the same by
 * thread. SKIP_SECONDS leaves out the samples of the recording's first seconds (a JMH fork's
 * start and warm-up). `jfr print` and `jfr view` stop on the generated kernels' hidden class
 * names, so this reads the recording itself.
 * Usage: java bench/cpu/JfrTop.java RECORDING.jfr [TOP] [SKIP_SECONDS]
 */
public final class JfrTop {
    public static void main(String[] args) throws Exception {
        int top = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        double skip = args.length > 2 ? Double.parseDouble(args[2]) : 0;
        Map<String, Integer> methods = new HashMap<>(), threads = new HashMap<>();
        int samples = 0;
        List<RecordedEvent> events = RecordingFile.readAllEvents(Path.of(args[0])).stream()
                .filter(e -> e.getEventType().getName().equals("jdk.ExecutionSample") && e.getStackTrace() != null).toList();
        Instant first = events.stream().map(RecordedEvent::getStartTime).min(Instant::compareTo).orElse(Instant.EPOCH);
        for (RecordedEvent event : events) {
            if (Duration.between(first, event.getStartTime()).toMillis() < skip * 1000) continue;
            List<RecordedFrame> frames = event.getStackTrace().getFrames();
            if (frames.isEmpty()) continue;
            RecordedFrame frame = frames.getFirst();
            String type = frame.getMethod().getType().getName();
            String name = type.replaceAll("/0x[0-9a-f]+", "").replaceAll("^.*\\.", "") + "." + frame.getMethod().getName() + " (" + frame.getType() + ")";
            methods.merge(name, 1, Integer::sum);
            threads.merge(event.getThread("sampledThread") == null ? "?" : event.getThread("sampledThread").getJavaName(), 1, Integer::sum);
            samples++;
        }
        System.out.printf("%d execution samples%n", samples);
        print(methods, samples, top);
        System.out.println("by thread:");
        print(threads, samples, top);
    }

    private static void print(Map<String, Integer> counts, int samples, int top) {
        counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(top)
                .forEach(e -> System.out.printf("  %5.1f%%  %s%n", 100.0 * e.getValue() / samples, e.getKey()));
    }
}

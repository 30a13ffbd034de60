import DunlinCore
import Foundation

/// A chart as SVG shapes, every coordinate already worked out: the report pages draw it through
/// one Mustache template (``ReportPage``), which escapes every text a chart holds (a customer's
/// name included). Pure: ``Chart`` makes one from figures, tests read its shapes.
///
/// Coordinates are display only. Figures arrive as `Double` (an amount's minor units converted,
/// which never traps, however large); the exact figures stand in each chart's table and in its
/// tooltips, which the caller writes.
public struct ChartDrawing: Sendable, Hashable {
    public struct Rect: Sendable, Hashable {
        public var x, y, width, height: Double
        public var fill: String
        /// The tooltip: the exact figure.
        public var tip: String
    }

    /// A run of consecutive figures of a line; an absent figure breaks the line.
    public struct Polyline: Sendable, Hashable {
        public var points: [Point]
        public var stroke: String
    }

    public struct Point: Sendable, Hashable {
        public var x, y: Double
    }

    public struct Dot: Sendable, Hashable {
        public var x, y: Double
        public var fill: String
        public var tip: String
    }

    public struct Label: Sendable, Hashable {
        public enum Anchor: String, Sendable, Hashable { case start, middle, end }
        public var x, y: Double
        public var text: String
        public var anchor: Anchor
        public var size: Int = 10
    }

    public struct Rule: Sendable, Hashable {
        public var x1, y1, x2, y2: Double
        public var stroke: String
    }

    public var title: String
    public var width: Double
    public var height: Double
    public var rules: [Rule] = []
    public var rects: [Rect] = []
    public var polylines: [Polyline] = []
    public var dots: [Dot] = []
    public var labels: [Label] = []

    /// The chart as the SVG template reads it (``ReportPage/chartTemplate``).
    public var templateValue: TemplateValue {
        .object([
            "title": .text(title), "width": .text(Self.number(width)), "height": .text(Self.number(height)),
            "rules": .list(rules.map { ["x1": .text(Self.number($0.x1)), "y1": .text(Self.number($0.y1)), "x2": .text(Self.number($0.x2)), "y2": .text(Self.number($0.y2)), "stroke": .text($0.stroke)] }),
            "rects": .list(rects.map {
                ["x": .text(Self.number($0.x)), "y": .text(Self.number($0.y)), "w": .text(Self.number($0.width)), "h": .text(Self.number($0.height)), "fill": .text($0.fill), "tip": .text($0.tip)]
            }),
            "polylines": .list(polylines.map { line in
                ["points": .text(line.points.map { Self.number($0.x) + "," + Self.number($0.y) }.joined(separator: " ")), "stroke": .text(line.stroke)]
            }),
            "dots": .list(dots.map { ["cx": .text(Self.number($0.x)), "cy": .text(Self.number($0.y)), "fill": .text($0.fill), "tip": .text($0.tip)] }),
            "labels": .list(labels.map {
                ["lx": .text(Self.number($0.x)), "ly": .text(Self.number($0.y)), "anchor": .text($0.anchor.rawValue), "size": .text(String($0.size)), "text": .text($0.text)]
            }),
        ])
    }

    /// A coordinate with one decimal; anything not finite or beyond any page (which ``Chart``
    /// never makes) as 0.
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e9 else { return "0" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(format: "%.1f", rounded)
    }
}

/// The report charts: bars by category (one bar per series in each group), lines by category,
/// and horizontal bars by name. Every scale includes zero, so a negative figure (a credit balance)
/// draws below or left of the axis; an absent figure (a ratio with nothing to divide by) draws
/// nothing; all-zero and empty data draw an axis and say so.
public enum Chart {
    /// One series of figures, one per category (nil: absent), with the text its tooltip shows.
    public struct Series: Sendable, Hashable {
        public var name: String
        public var values: [Double?]
        public var tips: [String]

        public init(name: String, values: [Double?], tips: [String]? = nil) {
            self.name = name
            let values = values.map { $0.flatMap { $0.isFinite ? $0 : nil } }
            self.values = values
            self.tips = tips ?? values.map(ReportFigures.figure)
        }
    }

    /// Colours by series, distinguishable in grey print as well.
    static let palette = ["#2f5d8a", "#d08a2c", "#5a9e6f", "#9b4d6e"]
    static let width = 720.0
    static let ruleColour = "#d9d9d9"
    static let axisColour = "#555555"

    /// The vertical extent of a plot.
    private struct Frame {
        var left = 64.0, right = Chart.width - 16, top = 30.0, bottom = 206.0
        var height: Double { bottom + 34 }
    }

    /// Vertical bars: a group per category, a bar per series in each.
    public static func bars(title: String, categories: [String], series: [Series], axis: (Double) -> String = Chart.compact) -> ChartDrawing {
        let frame = Frame()
        var drawing = ChartDrawing(title: title, width: width, height: frame.height)
        let scale = Scale(series.flatMap { $0.values.compactMap { $0 } })
        let y = { (value: Double) in scale.position(value, from: frame.bottom, to: frame.top) }
        drawValueAxis(&drawing, scale, frame: frame, axis: axis)
        drawLegend(&drawing, series)
        guard !categories.isEmpty else { return noData(drawing, frame) }
        let band = (frame.right - frame.left) / Double(categories.count)
        let barWidth = band * 0.7 / Double(max(series.count, 1))
        for (index, category) in categories.enumerated() {
            let groupLeft = frame.left + band * Double(index) + band * 0.15
            for (number, line) in series.enumerated() {
                guard index < line.values.count, let value = line.values[index] else { continue }
                let (top, bottom) = (min(y(value), y(0)), max(y(value), y(0)))
                drawing.rects.append(.init(
                    x: groupLeft + barWidth * Double(number), y: top, width: barWidth, height: bottom - top,
                    fill: palette[number % palette.count], tip: "\(category) \(line.name): \(tip(line, index))"
                ))
            }
            drawing.labels.append(.init(x: frame.left + band * (Double(index) + 0.5), y: frame.bottom + 16, text: category, anchor: .middle))
        }
        return drawing
    }

    /// Lines over categories: a dot per figure present, joined to its neighbours when they are.
    public static func lines(title: String, categories: [String], series: [Series], axis: (Double) -> String = Chart.compact) -> ChartDrawing {
        let frame = Frame()
        var drawing = ChartDrawing(title: title, width: width, height: frame.height)
        let scale = Scale(series.flatMap { $0.values.compactMap { $0 } })
        drawValueAxis(&drawing, scale, frame: frame, axis: axis)
        drawLegend(&drawing, series)
        guard !categories.isEmpty else { return noData(drawing, frame) }
        let band = (frame.right - frame.left) / Double(categories.count)
        let x = { (index: Int) in frame.left + band * (Double(index) + 0.5) }
        for (number, line) in series.enumerated() {
            let colour = palette[number % palette.count]
            var run: [ChartDrawing.Point] = []
            for index in categories.indices {
                guard index < line.values.count, let value = line.values[index] else {
                    if run.count > 1 { drawing.polylines.append(.init(points: run, stroke: colour)) }
                    run = []
                    continue
                }
                let point = ChartDrawing.Point(x: x(index), y: scale.position(value, from: frame.bottom, to: frame.top))
                run.append(point)
                drawing.dots.append(.init(x: point.x, y: point.y, fill: colour, tip: "\(categories[index]) \(line.name): \(tip(line, index))"))
            }
            if run.count > 1 { drawing.polylines.append(.init(points: run, stroke: colour)) }
        }
        for (index, category) in categories.enumerated() {
            drawing.labels.append(.init(x: x(index), y: frame.bottom + 16, text: category, anchor: .middle))
        }
        return drawing
    }

    /// Horizontal bars, a row per name (long names cut to 32 characters), the exact figure at the
    /// row's end.
    public static func horizontalBars(title: String, names: [String], values: [Double], tips: [String], axis: (Double) -> String = Chart.compact) -> ChartDrawing {
        let row = 22.0, left = 230.0, right = width - 120, top = 12.0
        let bottom = top + row * Double(max(names.count, 1))
        var drawing = ChartDrawing(title: title, width: width, height: bottom + 24)
        let present = values.map { $0.isFinite ? $0 : 0 }
        let scale = Scale(present)
        let x = { (value: Double) in scale.position(value, from: left, to: right) }
        for tick in scale.ticks {
            drawing.rules.append(.init(x1: x(tick), y1: top, x2: x(tick), y2: bottom, stroke: tick == 0 ? axisColour : ruleColour))
            drawing.labels.append(.init(x: x(tick), y: bottom + 14, text: axis(tick), anchor: .middle))
        }
        guard !names.isEmpty else {
            drawing.labels.append(.init(x: (left + right) / 2, y: top + row * 0.7, text: "no data", anchor: .middle, size: 12))
            return drawing
        }
        for (index, name) in names.enumerated() {
            let value = index < present.count ? present[index] : 0
            let text = index < tips.count ? tips[index] : ""
            let rowTop = top + row * Double(index)
            drawing.rects.append(.init(x: min(x(value), x(0)), y: rowTop + 4, width: abs(x(value) - x(0)), height: row - 8, fill: palette[0], tip: "\(name): \(text)"))
            drawing.labels.append(.init(x: left - 6, y: rowTop + row * 0.68, text: shortened(name, to: 32), anchor: .end))
            drawing.labels.append(.init(x: width - 4, y: rowTop + row * 0.68, text: text, anchor: .end))
        }
        return drawing
    }

    /// Axis text for a figure: "1.5M", "250k", "-40", "12.5".
    public static let compact: @Sendable (Double) -> String = { value in
        let magnitude = abs(value)
        let (divisor, suffix): (Double, String) = magnitude >= 1e12 ? (1e12, "T") : magnitude >= 1e9 ? (1e9, "B") : magnitude >= 1e6 ? (1e6, "M") : magnitude >= 1e3 ? (1e3, "k") : (1, "")
        let scaled = value / divisor
        let text = String(format: "%.1f", scaled)
        return (text.hasSuffix(".0") ? String(text.dropLast(2)) : text) + suffix
    }

    static func shortened(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }

    private static func tip(_ series: Series, _ index: Int) -> String {
        index < series.tips.count ? series.tips[index] : "-"
    }

    private static func drawValueAxis(_ drawing: inout ChartDrawing, _ scale: Scale, frame: Frame, axis: (Double) -> String) {
        for tick in scale.ticks {
            let y = scale.position(tick, from: frame.bottom, to: frame.top)
            drawing.rules.append(.init(x1: frame.left, y1: y, x2: frame.right, y2: y, stroke: tick == 0 ? axisColour : ruleColour))
            drawing.labels.append(.init(x: frame.left - 6, y: y + 3, text: axis(tick), anchor: .end))
        }
    }

    private static func drawLegend(_ drawing: inout ChartDrawing, _ series: [Series]) {
        guard series.count > 1 else { return }
        var x = 64.0
        for (number, line) in series.enumerated() {
            drawing.rects.append(.init(x: x, y: 8, width: 10, height: 10, fill: palette[number % palette.count], tip: line.name))
            drawing.labels.append(.init(x: x + 14, y: 17, text: line.name, anchor: .start, size: 11))
            x += 24 + Double(line.name.count) * 6.5
        }
    }

    private static func noData(_ drawing: ChartDrawing, _ frame: Frame) -> ChartDrawing {
        var drawing = drawing
        drawing.labels.append(.init(x: (frame.left + frame.right) / 2, y: (frame.top + frame.bottom) / 2, text: "no data", anchor: .middle, size: 12))
        return drawing
    }
}

/// A linear scale over figures, always including zero, with four to ten round ticks ("nice"
/// steps of 1, 2 or 5 times a power of ten). All-zero or no figures scale 0...1.
struct Scale: Sendable, Hashable {
    let low: Double
    let high: Double
    let ticks: [Double]

    init(_ values: [Double]) {
        let finite = values.filter(\.isFinite)
        var low = min(0, finite.min() ?? 0), high = max(0, finite.max() ?? 0)
        if low == high { high = low + 1 }
        let step = Self.step(for: (high - low) / 5)
        // Round outwards to whole steps, unless that leaves Double's range (figures near 1.7e308).
        let roundedLow = (low / step).rounded(.down) * step, roundedHigh = (high / step).rounded(.up) * step
        if roundedLow.isFinite, roundedHigh.isFinite, roundedHigh > roundedLow {
            low = roundedLow
            high = roundedHigh
        }
        self.low = low
        self.high = high
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high + step / 2, ticks.count < 12, tick.isFinite {
            ticks.append(abs(tick) < step / 1e6 ? 0 : tick)
            tick += step
        }
        self.ticks = ticks
    }

    /// Where `value` falls between `start` (at `low`) and `end` (at `high`), clamped to them.
    func position(_ value: Double, from start: Double, to end: Double) -> Double {
        let span = high - low
        guard span.isFinite, span > 0, value.isFinite else { return start }
        let fraction = min(1, max(0, (value - low) / span))
        return start + (end - start) * fraction
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func step(for raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let power = pow(10, (log10(raw)).rounded(.down))
        guard power.isFinite, power > 0 else { return raw }
        let fraction = raw / power
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power
    }
}

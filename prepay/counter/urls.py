"""Include under ``counter/``: ``path("counter/", include("prepay.counter.urls"))`` in prepay/urls.py."""

from __future__ import annotations

from django.urls import path

from prepay.counter.views import (
    account,
    approvals,
    cards,
    clerk,
    customers,
    deliveries,
    followup,
    pickers,
    printing,
    sell,
    shift,
)

app_name = "counter"

urlpatterns = [
    # the vending counter (cashiers)
    path("", sell.counter, name="sell"),
    path("search/", sell.search, name="search"),
    path("card/<int:pk>/", sell.card, name="card"),
    path("quote/", sell.quote, name="quote"),
    path("review/", sell.review, name="review"),
    path("vend/", sell.sell, name="vend_confirm"),
    path("change/", sell.change, name="change"),
    path("vends/<int:pk>/", sell.vend_detail, name="vend"),
    path("vends/<int:pk>/reprint/", sell.reprint, name="reprint"),
    path("vends/<int:pk>/reissue/", sell.reissue, name="reissue"),
    path("vends/<int:pk>/reversal/", approvals.request_reversal, name="request_reversal"),
    # thermal receipt printing (F9), IC cards through the card bridge, credit still to deliver
    path("receipts/<str:code>/print/", printing.print_receipt, name="print_receipt"),
    path("receipts/<str:code>/print/start/", printing.print_start, name="print_start"),
    path("receipts/<str:code>/reprint/", printing.reprint, name="receipt_reprint"),
    path("prints/<int:pk>/finish/", printing.print_finish, name="print_finish"),
    path("cards/read/", cards.card_read, name="card_read"),
    path("cards/<int:pk>/written/", cards.card_written, name="card_written"),
    path("cards/<int:pk>/image.bin", cards.card_image, name="card_image"),
    path("deliveries/", deliveries.pending, name="deliveries"),
    path("deliveries/<int:pk>/", deliveries.delivery, name="delivery"),
    path("deliveries/<int:pk>/retry/", deliveries.retry, name="delivery_retry"),
    path("deliveries/<int:pk>/reissue/", deliveries.reissue, name="delivery_reissue"),
    path("shift/open/", shift.open_shift, name="shift_open"),
    path("shift/close/", shift.close_shift, name="shift_close"),
    path("shifts/<int:pk>/", shift.shift_detail, name="shift"),
    # accounts and the customer view
    path("accounts/", clerk.accounts, name="accounts"),
    path("accounts/<int:pk>/", account.account, name="account"),
    path("accounts/<int:pk>/consumption.json", account.consumption, name="consumption"),
    path("accounts/<int:pk>/refund/", approvals.request_refund, name="request_refund"),
    # clerk screens
    path("accounts/<int:pk>/assign-meter/", clerk.assign_meter, name="assign_meter"),
    path("accounts/<int:pk>/replace-meter/", clerk.replace_meter, name="replace_meter"),
    path("accounts/<int:pk>/transfer/", clerk.transfer, name="transfer"),
    path("accounts/<int:pk>/close/", clerk.close, name="close"),
    path("accounts/<int:pk>/relay/", clerk.relay_command, name="relay_command"),
    path("customers/", clerk.customers, name="customers"),
    path("customers/new/", clerk.customer_new, name="customer_new"),
    path("customers/<int:pk>/", customers.customer, name="customer"),
    # search-as-you-type pickers of the clerk forms (a unit, a meter in stock)
    path("pick/units/", pickers.units, name="pick_units"),
    path("pick/meters/", pickers.meters, name="pick_meters"),
    path("customers/<int:pk>/open-account/", clerk.open_account, name="open_account"),
    path("meters/<int:pk>/tokens/", clerk.meter_tokens, name="meter_tokens"),
    path("meters/<int:pk>/management-token/", clerk.management_token, name="management_token"),
    path("meters/<int:pk>/key-change/", clerk.key_change, name="key_change"),
    # approvals (finance / admin)
    path("approvals/", approvals.queue, name="approvals"),
    path("approvals/<int:pk>/<str:decision>/", approvals.decide, name="decide"),
    # adjustments and protected supply (issue 7 follow-up)
    path("accounts/<int:pk>/adjust/", followup.adjust, name="adjust"),
    path("adjustments/<int:pk>/<str:decision>/", followup.decide_adjustment, name="decide_adjustment"),
    path("accounts/<int:pk>/protect/", followup.protect, name="protect_supply"),
    path("protections/<int:pk>/end/", followup.end_protection, name="end_protection"),
]

"""Portal URLs, mounted at ``/portal/``."""

from __future__ import annotations

from django.urls import path

from prepay.portal import views, views_buy

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signin/code/", views.verify, name="verify"),
    path("signout/", views.signout, name="signout"),
    path("a/<str:number>/", views.account, name="account"),
    path("a/<str:number>/consumption.json", views.consumption, name="consumption"),
    path("a/<str:number>/purchases/", views.purchases, name="purchases"),
    path("a/<str:number>/bills/", views.bills, name="bills"),
    path("a/<str:number>/buy/", views_buy.buy, name="buy"),
    path("orders/<str:number>/", views_buy.order, name="order"),
    path("orders/<str:number>/status.json", views_buy.order_status, name="order_status"),
    path("r/<str:code>/", views.receipt, name="receipt"),
]
